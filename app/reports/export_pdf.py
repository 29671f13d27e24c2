"""A run's report as a PDF (reportlab): a title page, then per tree the distribution as
a table and a chart, the cross-tab, the moves, and the first borderline and
locked-conflict customers.

Chinese is set in STSong-Light, one of the CID fonts every PDF reader carries (Adobe's
Asian font packs): reportlab ships its metrics, so no font file is needed on the server
and the text stays extractable. Rendering is CPU work: callers run it in a thread.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.core.i18n import Locale, Text
from app.reports import wording
from app.reports.schemas import CategoryLabel, FlaggedList, RunReport, TreeDistribution

MEDIA_TYPE: Final = "application/pdf"
FONT: Final = "STSong-Light"
PALETTE: Final = [
    colors.HexColor(c)
    for c in (
        "#4472C4",
        "#ED7D31",
        "#A5A5A5",
        "#FFC000",
        "#5B9BD5",
        "#70AD47",
        "#264478",
        "#9E480E",
    )
]
HIGHLIGHT: Final = colors.HexColor("#FFD966")
HEADER: Final = colors.HexColor("#DDEBF7")
MAX_MOVES: Final = 15

pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=11)
_TITLE = ParagraphStyle("title", parent=_BODY, fontSize=26, leading=34, spaceAfter=12 * mm)
_H1 = ParagraphStyle(
    "h1", parent=_BODY, fontSize=15, leading=20, spaceBefore=4 * mm, spaceAfter=3 * mm
)
_H2 = ParagraphStyle(
    "h2", parent=_BODY, fontSize=11.5, leading=16, spaceBefore=3 * mm, spaceAfter=2 * mm
)


def render_pdf(report: RunReport, path: str, locale: Locale) -> None:
    """Write the report to `path`."""
    t = _Texts(locale)
    story: list[Any] = [Spacer(1, 40 * mm), Paragraph(t(wording.TITLE), _TITLE)]
    story.append(_facts(report, t))
    story.append(Spacer(1, 10 * mm))
    story.append(_contents(report, t))
    if report.drift:
        story.append(Paragraph(t(wording.DRIFT), _H2))
        story.append(_drift(report, t))
    story.append(PageBreak())
    story.append(Paragraph(t(wording.DISTRIBUTION), _H1))
    for tree in report.distribution:
        story.append(KeepTogether([Paragraph(tree.name or "", _H2), *_distribution(tree, t)]))
    if report.crosstab is not None:
        story.append(Paragraph(t(wording.CROSSTAB), _H1))
        story.append(_crosstab(report, t))
    story.append(Paragraph(t(wording.TRANSITIONS), _H1))
    for moves in report.transitions:
        story.extend(_transitions(moves, t))
    for title, flagged in (
        (wording.BORDERLINE, report.borderline),
        (wording.CONFLICTS, report.locked_conflicts),
    ):
        story.append(Paragraph(f"{t(title)}({flagged.total})", _H1))
        story.extend(_flagged(flagged, t))
    document = SimpleDocTemplate(
        path,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=t(wording.TITLE),
        author="crm-classifier",
    )
    footer = f"{t(wording.TITLE)} · {report.as_of.isoformat()}"

    def page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    document.build(story, onFirstPage=page, onLaterPages=page)


class _Texts:
    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def __call__(self, text: Text) -> str:
        return text.get(self.locale)


def _p(value: Any) -> Paragraph:
    text = "" if value is None else str(value)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, _CELL)


def _table(rows: list[list[Any]], widths: Sequence[float], extra: Sequence[Any] = ()) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9BA7B5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                *extra,
            ]
        )
    )
    return table


def _facts(report: RunReport, t: _Texts) -> Table:
    values = [
        str(report.run_id),
        t(wording.MODES[report.mode]),
        report.as_of.isoformat(),
        report.finished_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if report.finished_at
        else "",
        f"{report.customers:,}",
    ]
    rows = [
        [_p(t(label)), _p(value)]
        for (label, _), value in zip(wording.RUN_FACTS, values, strict=True)
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows.append([_p("生成时间" if t.locale != "en" else "Generated"), _p(generated)])
    table = Table(rows, colWidths=[40 * mm, 110 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.lightgrey)]))
    return table


def _contents(report: RunReport, t: _Texts) -> Table:
    """Per tree, its largest category and how many moved: the report at a glance."""
    rows: list[list[Any]] = [[_p(h) for h in wording.headers(wording.AT_A_GLANCE, t.locale)]]
    moved = {m.tree_id: m.changed for m in report.transitions}
    for tree in report.distribution:
        top = max(tree.categories, key=lambda c: c.count, default=None)
        rows.append(
            [
                _p(tree.name),
                _p(f"{top.category.name} {_percent(top.share)}" if top else ""),
                f"{moved.get(tree.tree_id, 0):,}",
            ]
        )
    return _table(rows, [50 * mm, 70 * mm, 30 * mm])


def _drift(report: RunReport, t: _Texts) -> Table:
    names = {tree.tree_id: tree.name for tree in report.distribution}
    rows: list[list[Any]] = [[_p(h) for h in wording.headers(wording.DRIFT_HEADERS, t.locale)]]
    for drift in report.drift:
        rows.append(
            [
                _p(names.get(drift.tree_id)),
                _p(drift.category.name),
                f"{drift.before:.2f}",
                f"{drift.after:.2f}",
                _points(drift.pp),
                f"{drift.threshold_pp:.2f}",
            ]
        )
    return _table(rows, [32 * mm, 32 * mm, 22 * mm, 22 * mm, 24 * mm, 22 * mm])


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


def _distribution(tree: TreeDistribution, t: _Texts) -> list[Any]:
    headers = wording.headers(wording.DISTRIBUTION_HEADERS, t.locale)[1:]
    rows: list[list[Any]] = [[_p(h) for h in headers]]
    for entry in tree.categories:
        rows.append(
            [
                _p(entry.category.name),
                f"{entry.count:,}",
                _percent(entry.share),
                _percent(entry.previous_share),
                _points(entry.change_pp),
            ]
        )
    note = (
        wording.PREVIOUS_RUN.format(as_of=tree.previous_as_of.isoformat())
        if tree.previous_as_of
        else wording.NO_PREVIOUS_RUN
    )
    return [
        _table(rows, [52 * mm, 24 * mm, 24 * mm, 26 * mm, 28 * mm]),
        Spacer(1, 1.5 * mm),
        Paragraph(t(note), _CELL),
        _pie(tree)
        if not tree.multi_assign
        else _bars([(c.category.name, c.count) for c in tree.categories]),
    ]


def _pie(tree: TreeDistribution) -> Drawing:
    shown = [c for c in tree.categories if c.count > 0]
    drawing = Drawing(170 * mm, 62 * mm)
    if not shown:
        return drawing
    pie = Pie()
    # The stubs type these as int; reportlab takes points as any number.
    pie.x, pie.y = round(20 * mm), round(6 * mm)
    pie.width = pie.height = round(50 * mm)
    pie.data = [c.count for c in shown]
    pie.labels = [f"{c.category.name} {c.share * 100:.1f}%" for c in shown]
    pie.sideLabels = True
    pie.simpleLabels = False
    pie.slices.fontName = FONT
    pie.slices.fontSize = 8
    pie.slices.strokeColor = colors.white
    for i in range(len(shown)):
        pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
    drawing.add(pie)
    return drawing


def _bars(pairs: list[tuple[str, int]], title: str = "") -> Drawing:
    height = 14 * mm + 7 * mm * max(len(pairs), 1)
    drawing = Drawing(170 * mm, height)
    if not pairs:
        return drawing
    chart = HorizontalBarChart()
    chart.x, chart.y = round(62 * mm), round(6 * mm)
    chart.width, chart.height = round(95 * mm), round(height - 14 * mm)
    chart.data = [[count for _, count in reversed(pairs)]]
    chart.categoryAxis.categoryNames = [name for name, _ in reversed(pairs)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = PALETTE[0]
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 2
    drawing.add(chart)
    if title:
        drawing.add(String(62 * mm, height - 5 * mm, title, fontName=FONT, fontSize=9))
    return drawing


def _crosstab(report: RunReport, t: _Texts) -> Any:
    table = report.crosstab
    assert table is not None
    corner = f"{table.rows.name or ''} \\ {table.cols.name or ''}"
    rows: list[list[Any]] = [
        [_p(corner), *(_p(c.name) for c in table.cols.categories), _p(t(wording.TOTAL))]
    ]
    for label, line, total in zip(
        table.rows.categories, table.cells, table.row_totals, strict=True
    ):
        rows.append([_p(label.name), *(f"{v:,}" for v in line), f"{total:,}"])
    rows.append([_p(t(wording.TOTAL)), *(f"{v:,}" for v in table.col_totals), f"{table.total:,}"])
    columns = len(table.cols.categories) + 1
    width = min(24 * mm, 120 * mm / columns)
    marks = [
        ("BACKGROUND", (h.col + 1, h.row + 1), (h.col + 1, h.row + 1), HIGHLIGHT)
        for h in table.highlights
    ] + [
        ("BOX", (h.col + 1, h.row + 1), (h.col + 1, h.row + 1), 1.5, colors.HexColor("#BF8F00"))
        for h in table.highlights
    ]
    parts: list[Any] = [_table(rows, [40 * mm, *([width] * columns)], marks)]
    for h in table.highlights:
        parts.append(Spacer(1, 2 * mm))
        parts.append(Paragraph(f"■ {h.label}:{h.count:,}", _BODY))
    return KeepTogether(parts)


def _names(labels: Sequence[CategoryLabel], t: _Texts) -> str:
    return "、".join(c.name for c in labels) or t(wording.NONE)


def _transitions(moves: Any, t: _Texts) -> list[Any]:
    moved = [
        i
        for i in moves.items
        if [c.id for c in i.from_categories] != [c.id for c in i.to_categories]
    ]
    headers = wording.headers(wording.TRANSITION_HEADERS, t.locale)[1:]
    rows: list[list[Any]] = [[_p(h) for h in headers]]
    for item in moved[:MAX_MOVES]:
        rows.append(
            [
                _p(_names(item.from_categories, t)),
                _p(_names(item.to_categories, t)),
                f"{item.count:,}",
            ]
        )
    parts: list[Any] = [
        Paragraph(f"{moves.name or ''}:{moves.changed:,} / {moves.customers:,}", _H2)
    ]
    if moved:
        parts.append(_table(rows, [62 * mm, 62 * mm, 30 * mm]))
        pairs = [
            (f"{_names(i.from_categories, t)} → {_names(i.to_categories, t)}", i.count)
            for i in moved[:10]
        ]
        parts.append(_bars(pairs))
    return [KeepTogether(parts)]


def _flagged(flagged: FlaggedList, t: _Texts) -> list[Any]:
    if not flagged.items:
        return [Paragraph(t(wording.NONE), _BODY)]
    headers = wording.headers(wording.FLAGGED_HEADERS, t.locale)
    rows: list[list[Any]] = [[_p(h) for h in headers]]
    for item in flagged.items:
        rule = (item.rule.name or item.rule.key) if item.rule else t(wording.DEFAULT_RULE)
        rows.append(
            [
                _p(item.customer_code),
                _p(item.customer_name),
                _p(item.tree_name),
                _p(item.category.name),
                _p(rule),
                _p(item.next_action),
            ]
        )
    parts: list[Any] = [_table(rows, [22 * mm, 34 * mm, 22 * mm, 24 * mm, 24 * mm, 48 * mm])]
    if flagged.total > len(flagged.items):
        note = wording.FIRST_ONLY.format(shown=len(flagged.items), total=flagged.total)
        parts.append(Paragraph(t(note), _CELL))
    return parts
