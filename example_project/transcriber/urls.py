from django.urls import path

from .views import index

app_name = "transcriber"
urlpatterns = [path("", index, name="index")]
