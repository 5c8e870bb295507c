"""progbill: progress invoicing (milestone billing) from Excel workbooks.

Layers, in the order data flows: ``readers`` -> ``billing`` (the pure core) -> ``store`` ->
``render`` / ``ledger`` -> ``pipeline`` -> ``cli``.
"""

__version__ = "0.1.0"
