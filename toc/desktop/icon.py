"""The app's icon (TOC's brand mark: "TOC" on a blue rounded square, as static/brand/toc.svg)
and, for the tray, the same with the user's presence dot in the corner."""

from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

BRAND_BLUE = "#1f5fbf"
# The communicator's presence colours (web/toc.css).
PRESENCE_COLOURS = {
    "available": "#1e8e3e",
    "busy": "#c5221f",
    "do_not_disturb": "#c5221f",
    "in_a_meeting": "#d56e0c",
    "away": "#e3a008",
    "vacation": "#7e57c2",
    "at_lunch": "#e3a008",
    "offline": "#9aa3b2",
}


def brand_pixmap(size: int = 256, presence: str | None = None) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(BRAND_BLUE))
    painter.drawRoundedRect(QRectF(0, 0, size, size), size * 14 / 64, size * 14 / 64)
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(round(size * 22 / 64))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, "TOC")
    if presence is not None:
        colour = QColor(PRESENCE_COLOURS.get(presence, PRESENCE_COLOURS["offline"]))
        diameter = size * 0.42
        ring = QPen(QColor("#ffffff"))
        ring.setWidthF(size * 0.06)
        painter.setPen(ring)
        painter.setBrush(colour if presence != "offline" else QColor("#ffffff"))
        painter.drawEllipse(QRectF(size - diameter - size * 0.03, size - diameter - size * 0.03, diameter, diameter))
    painter.end()
    return pixmap


def brand_icon(presence: str | None = None) -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(brand_pixmap(size, presence))
    return icon
