"""The SlashML HTTP edge: the client, the tolerant reading of SlashML's answers, the API key scrubbed
from whatever is shown or stored (``key_scrub``; PII redaction is ``privacy``'s).

Nothing here touches the database: it speaks HTTP and returns plain values
(:class:`~django_slashml.remote.responses.RemoteJob`), which the job engine stores.
``protocol`` is Django-free so the sandbox shares SlashML's vocabulary with the client.
"""
