"""vpclink: interconnect two Alibaba Cloud VPCs of different accounts, as Jupyter runbooks.

Data flows one way: parameters (``params``) -> plan -> apply -> outputs (``state``), phase by phase
(``phases/``), run in sequence by ``runner`` and recorded by ``records``. ``cloud`` is the only module
that calls the SDKs.
"""

__version__ = "0.1.0"
