"""The ledger: the one unit of work for a tenant's writes.

Below every concept and above ``kit`` and ``db``. It owns what every write
shares: the group's counters and their shape (``counters``), the plans and the
quota reservation that keeps counters within them (``plans``, ``reservation``),
the event log with its metric counters (``events``, ``buckets``, ``log``), the
calendar periods (``periods``) and the transaction of a write (``ledger``).
"""
