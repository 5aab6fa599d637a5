"""Receipt rendering (WeasyPrint is imported lazily on the first render)."""
from pdf.receipt import COPIES, MatterLine, ReceiptView, Recipient, Sensitive, render_receipt

__all__ = ["COPIES", "MatterLine", "ReceiptView", "Recipient", "Sensitive", "render_receipt"]
