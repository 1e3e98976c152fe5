"""Scheduled jobs: the scheduler, its lease, and the record of every run (``job_runs``).

A package inside ``ontology`` rather than a top-level ``jobs``: an installed
top-level module of that name would collide with other distributions'.
"""
