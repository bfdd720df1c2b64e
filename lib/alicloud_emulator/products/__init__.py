"""One module per product, like moto's services: resources and their rules, no HTTP.

Each module exposes ``ACTIONS: dict[str, Action]``; ``dispatch.PRODUCTS`` maps API versions to them.
"""
