"""``python -m vpclink``: the ``vpclink`` command (see ``launch``)."""

from vpclink.launch import main

main()
