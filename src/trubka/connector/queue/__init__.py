"""The queue of call events and background jobs, and the worker that drains it.

The ``CallEvent`` row is the queue: a worker claims due ``pending`` rows, runs each (an event
through ``connector.handling``, a job through its registered function) and records the
outcome. A claim is a lease: a worker killed mid-event leaves the row to be claimed again.
One call's events are handled one at a time, in the order they arrived.

- ``claim.py``: which due rows a worker takes next (rings before anything else) and how;
- ``outcome.py``: running one row and recording success, retry with backoff, or failure;
- ``worker.py``: the worker's lanes (events, jobs) and ``drain``;
- ``wakeup.py``: waking the workers, in this process and in others (Redis, PostgreSQL);
- ``jobs.py``: the queue behind ``trubka.core.jobs``.

Popups first. A ringing phone is the one thing someone waits for, so rings are taken before
any other event, jobs never share a lane with notifications, one ring looks its caller and
the extension's employees up once, and ``wake_worker()`` wakes the workers of other
processes instead of leaving them to their idle poll.

SQLite has one write lock for the whole database, and a webhook that wants it while the
worker holds it sleeps and polls (SQLite's busy handler: 1, 2, 5 … 100 ms), so the worker
holds it as little as it can:

- the worker picks its rows with plain reads (readers never wait under WAL) and does not
  claim an event it processes in one transaction: that transaction, whose last statement
  marks the event processed only if it is still pending and nobody holds a claim on it, is
  the whole of its exactly-once guarantee (SQLite runs write transactions one at a time; a
  worker that dies mid-event leaves nothing behind). Only work done outside a transaction (a
  job, another system's desk) is claimed first, with one conditional ``UPDATE``;
- an event's reads come before its write transaction: the event itself, and the gateway's
  ``look_ahead`` (the caller, the extension's employees). A number nobody had is looked up
  again inside, before a card is made;
- an event for a desk in another system (an Okdesk account, ``Gateway.in_process`` false)
  makes its HTTP calls outside any transaction: nothing of it is written here but the
  outcome. A claim keeps other workers off it, as for jobs.

PostgreSQL locks rows, not the database: there a batch is claimed with ``SKIP LOCKED`` and
each event keeps its row lock for the whole of its processing.
"""
