"""One module per product, like moto's services: resources and their rules, no HTTP.

Each product exposes ``ACTIONS: dict[str, Action]`` (``vpc``, ``ecs``, ``sts``, ``vpcpeer``);
``dispatch.PRODUCTS`` maps API versions to them. Each action declares the errors it may raise
(``catalog.action``), named constructors kept in one module per product (``vpc_errors``,
``ecs_errors``, ``vpcpeer_errors``), so the codes an action can return are data the conformance tests
compare with the vendor's API metadata.

Resource records shared between products (``store`` type -> fields; every record is scoped by the
owner account UID and region, and also carries the store's ``_``-prefixed bookkeeping keys):

* ``vpc``: VpcId, VpcName, RegionId, Status, CidrBlock, VRouterId, RouteTableId, IsDefault,
  CreationTime, Description, VSwitchIds (list)
* ``vswitch``: VSwitchId, VSwitchName, VpcId, ZoneId, CidrBlock, Status, CreationTime, Description,
  IsDefault, RouteTableId
* ``route_table``: RouteTableId, RouteTableName, RouteTableType ("System"), RouterId (vrt-),
  RouterType ("VRouter"), VpcId, Status, CreationTime, Description, VSwitchIds (list)
* ``route_entry``: RouteEntryId, RouteTableId, DestinationCidrBlock (normalised CIDR), Type
  ("System" for a vSwitch's local route, "Custom"), Status ("Pending", "Available", "Modifying",
  "Deleting"), NextHopType ("local" for system routes, "RouterInterface", "VpcPeer", "Instance"),
  NextHopId, RouteEntryName, Description, Origin ("SystemCreate" | "CustomCreate"), GmtModified
* ``router_interface``: RouterInterfaceId, Name, Description, Role ("InitiatingSide" |
  "AcceptingSide"), RouterId, RouterType, VpcInstanceId, Spec, Bandwidth (int), Status, BusinessStatus,
  ChargeType, CreationTime, ConnectedTime, EndTime, OppositeInterfaceId, OppositeRouterId,
  OppositeRouterType, OppositeRegionId, OppositeInterfaceOwnerId (str UID), OppositeVpcInstanceId,
  plus the remaining response fields. Two interfaces are *connected* when both are ``Active`` and
  each one's OppositeInterfaceId/OppositeInterfaceOwnerId/OppositeRegionId name the other.
* ``vpc_peer`` (VpcPeer 2022-01-01, in the requester's account and region) and ``vpc_peer_grant``
  (the accepter's handle on a cross-account one): the fields listed in ``vpcpeer_records.py``. A
  connection joins VpcId (of OwnerId, in RegionId) and AcceptingVpcId (of AcceptingOwnerUid, in
  AcceptingRegionId) and carries traffic while ``Activated`` (or ``Updating`` once Established).
* ``security_group``: SecurityGroupId, SecurityGroupName, VpcId, Description, SecurityGroupType,
  CreationTime, InnerAccessPolicy, Rules (list of Permission dicts as DescribeSecurityGroupAttribute
  returns them: SecurityGroupRuleId, Direction, IpProtocol (upper case), PortRange, SourceCidrIp,
  SourceGroupId, SourceGroupOwnerAccount (UID), Policy ("Accept"/"Drop"), Priority (str), NicType,
  Description, CreateTime, ...)
* ``instance``: InstanceId, InstanceName, Status, RegionId, ZoneId, VpcId, VSwitchId,
  PrivateIpAddress (str), SecurityGroupIds (list), CreationTime, OSType, OSName, InstanceType,
  CloudAssistant (bool)
* ``invocation`` (Cloud Assistant, written by ``cloud_assistant.py``): InvokeId, CommandId,
  CommandType, CommandContent, Timeout, RepeatMode, CreationTime, and Results (one entry per
  instance: ``Running`` until ``timing.command`` has passed, then the outcome decided by
  ``reachability.py`` when RunCommand was called)
"""
