from django_slashml.sandbox.cli import main

if __name__ == "__main__":
    main()
