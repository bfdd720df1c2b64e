"""The record of a run, as reviewers read it and as a resume continues from it.

``run`` (``run.json``: :class:`~vpclink.record.run.RunState` creates runs, computes results and
inputs, and is its only writer), ``notebook_records`` (the machine-readable records inside each
executed notebook), ``ledger`` (``ledger.jsonl``: every API call, with a mutating call's parameters),
``html`` (each notebook's HTML and ``index.html``), ``picture`` (the link as SVG), ``provenance``
(what ran: versions and commit) and ``secret_scan`` (no credential in any record).
"""
