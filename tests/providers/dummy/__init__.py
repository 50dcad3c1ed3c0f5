"""A made-up PBX, for tests only: the proof that a provider is a folder plus one registry line.

It posts JSON such as ``{"event": "ring", "call": "c1", "from": "+79161234567", "to": "101"}``
to ``/dummy-pbx/<token>/``. Nothing outside this folder knows it; the test registers it with
one line in ``trubka.connector.providers.PROVIDERS``.
"""
