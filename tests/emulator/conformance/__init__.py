"""Conformance of the emulator with Alibaba's API metadata (vendored under ``tests/data/api_metadata``).

* ``metadata``: the vendored metadata, read as parameter specs, response schemas and error codes.
* ``sdk``: calls through the official SDK clients (their request models, or their generic
  ``call_api`` with the SDK's own signing where a model cannot express the request).
* ``baselines``: one valid request per implemented action, with the set-up it needs.
* ``probes``: the checks (missing required, bad enum, over a limit, response fields, error codes)
  and their outcome per action.
* ``known``: the known differences listed in ``docs/parity.md``.
* ``report``: the table in ``docs/parity.md`` (``python -m tests.emulator.conformance.report``).
* ``vendor``: refreshes the vendored metadata from its source.
"""
