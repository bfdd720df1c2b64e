"""A local emulator of the Alibaba Cloud RPC APIs that a cross-account VPC interconnection uses.

The official SDKs talk to it over HTTP, unmodified. Resources and their rules live in
``products/``; the wire format in ``wire.py``/``server.py``; state in ``store.py``.
"""

__version__ = "0.1.0"
