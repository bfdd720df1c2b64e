"""vpclink: interconnect two Alibaba Cloud VPCs of different accounts, as Jupyter runbooks.

Data flows one way: parameters (``params``) -> plan -> apply -> outputs (``state``), phase by phase
(``phases/``), run in sequence by ``runner`` and recorded by ``records``. ``cloud`` is the only module
that calls the SDKs.

Importing it makes the SDKs' model packages, imported from then on, load each model when first used
(``importing.sdk_models_on_demand``): 0.3 s of CPU less in every process that uses the SDKs.
"""

from .importing import sdk_models_on_demand

__version__ = "0.1.0"

sdk_models_on_demand()
