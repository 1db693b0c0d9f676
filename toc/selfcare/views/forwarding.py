"""Self Care > Services: Call Forwarding (Always, Busy, No answer, Unreachable), the App
Presence rules as the guide describes them, and "Test this rule".

Every form works as a plain POST (redirect and a message after a save) and, with htmx, swaps
only its own card. The + and remove buttons of the App Presence tab re-render the form with a line
more or less without saving; blank lines are ignored when saving.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from toc.accounts.models import User
from toc.calls import routing
from toc.calls.services import forwarding
from toc.presence.state import LABELS, Status
from toc.selfcare.access import is_htmx, member_of, member_page

TABS = ("forwarding", "presence")


@member_page
def home(request: HttpRequest) -> HttpResponseBase:
    return redirect("selfcare:services")


@member_page
def services(request: HttpRequest) -> HttpResponseBase:
    user = member_of(request)
    stored = forwarding.get_forwarding(user=user)
    rules = forwarding.list_presence_rules(user=user)
    active = [LABELS[status] for status, rule in rules.items() if rule.is_enabled]
    return render(
        request,
        "selfcare/services.html",
        {"section": "services", "forwarding": stored, "active_rules": active, "user": user},
    )


# --- the App Presence form ------------------------------------------------------------------------


@dataclass
class LineRow:
    destination: str = ""
    seconds: str = "20"


@dataclass
class PresenceRow:
    status: Status
    label: str
    is_enabled: bool = False
    has_local: bool = False
    lines: list[LineRow] = field(default_factory=list)
    local_lines: list[LineRow] = field(default_factory=list)
    error: str = ""


def _rows_from_rules(user: User) -> list[PresenceRow]:
    stored = forwarding.list_presence_rules(user=user)
    rows = []
    for status in Status:
        rule = stored.get(status)
        row = PresenceRow(status, LABELS[status])
        if rule is not None:
            row.is_enabled = rule.is_enabled
            row.lines = _stored_lines(rule.lines)
            row.has_local = rule.local_lines is not None
            row.local_lines = _stored_lines(rule.local_lines or [])
        rows.append(_padded(row))
    return rows


def _stored_lines(lines: list[dict[str, object]]) -> list[LineRow]:
    return [
        LineRow(str(line["destination"]), "" if line["destination"] == routing.VOICEMAIL_CODE else str(line["seconds"]))
        for line in lines
    ]


def _padded(row: PresenceRow) -> PresenceRow:
    """Every list shows at least one line to fill in."""
    row.lines = row.lines or [LineRow()]
    row.local_lines = row.local_lines or [LineRow()]
    return row


def _lines_from_post(data: QueryDict, prefix: str) -> list[LineRow]:
    destinations = data.getlist(f"{prefix}-destination")
    seconds = data.getlist(f"{prefix}-seconds")
    seconds += [""] * (len(destinations) - len(seconds))
    return [LineRow(text.strip(), seconds[index].strip()) for index, text in enumerate(destinations)]


def _rows_from_post(data: QueryDict) -> list[PresenceRow]:
    rows = []
    for status in Status:
        key = status.value
        rows.append(
            PresenceRow(
                status,
                LABELS[status],
                is_enabled=data.get(f"{key}-enabled") == "on",
                has_local=data.get(f"{key}-local") == "on",
                lines=_lines_from_post(data, key),
                local_lines=_lines_from_post(data, f"{key}-local"),
            )
        )
    return rows


def _edit_lines(rows: list[PresenceRow], data: QueryDict) -> None:
    """The + button adds a line to its list; remove takes one out (values "away", "away-local:2")."""
    adding = data.get("add_line", "")
    removing = data.get("remove_line", "")
    for row in rows:
        for prefix, lines in ((row.status.value, row.lines), (f"{row.status.value}-local", row.local_lines)):
            if adding == prefix and len(lines) < routing.MAX_LINES:
                lines.append(LineRow())
            name, _, index = removing.partition(":")
            if name == prefix and index.isdigit() and int(index) < len(lines):
                del lines[int(index)]
        _padded(row)


class _UnreadableError(ValueError):
    pass


def _parsed(lines: list[LineRow], what: str) -> list[tuple[str, int]]:
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.destination:
            continue
        if line.destination == routing.VOICEMAIL_CODE and not line.seconds:
            parsed.append((line.destination, 0))
            continue
        try:
            parsed.append((line.destination, int(line.seconds)))
        except ValueError:
            raise _UnreadableError(f"{what}, line {number}: enter the timeout in seconds.") from None
    return parsed


def _save_rules(user: User, rows: list[PresenceRow]) -> bool:
    inputs: dict[str, forwarding.RuleInput] = {}
    for row in rows:
        try:
            inputs[row.status.value] = forwarding.RuleInput(
                is_enabled=row.is_enabled,
                lines=_parsed(row.lines, row.label),
                local_lines=_parsed(row.local_lines, f"{row.label} (local calls)") if row.has_local else None,
            )
        except _UnreadableError as error:
            row.error = str(error)
    if any(row.error for row in rows):
        return False
    try:
        forwarding.save_presence_rules(user=user, rules=inputs)
    except ValidationError as error:
        problems = error.message_dict
        for row in rows:
            row.error = " ".join(problems.get(row.status.value, []))
        return False
    return True


def _presence_response(
    request: HttpRequest, rows: list[PresenceRow], *, status: int = 200, saved: bool = False
) -> HttpResponse:
    template = "selfcare/_presence_rules.html" if is_htmx(request) else "selfcare/call_forwarding.html"
    context = {**_page_context(request, "presence"), "rows": rows, "saved": saved}
    if not is_htmx(request):
        context.update(values=_forwarding_values(member_of(request)), errors={})
    return render(request, template, context, status=status)


# --- the Forwarding form --------------------------------------------------------------------------


def _forwarding_values(user: User) -> dict[str, str]:
    stored = forwarding.get_forwarding(user=user)
    return {
        "always": stored.always_destination,
        "busy": stored.busy_destination,
        "no_answer": stored.no_answer_destination,
        "no_answer_seconds": str(stored.no_answer_seconds),
        "unreachable": stored.unreachable_destination,
    }


def _forwarding_response(
    request: HttpRequest, values: dict[str, str], errors: dict[str, str], *, status: int = 200, saved: bool = False
) -> HttpResponse:
    template = "selfcare/_forwarding_form.html" if is_htmx(request) else "selfcare/call_forwarding.html"
    context = {**_page_context(request, "forwarding"), "values": values, "errors": errors, "saved": saved}
    if not is_htmx(request):
        context["rows"] = _rows_from_rules(member_of(request))
    return render(request, template, context, status=status)


def _page_context(request: HttpRequest, tab: str) -> dict[str, object]:
    user = member_of(request)
    return {
        "section": "services",
        "tab": tab,
        "statuses": [(status.value, LABELS[status]) for status in Status],
        "extension": user.extension,
        "has_mobile": bool(user.mobile_number),
        "max_lines": routing.MAX_LINES,
    }


@member_page
@require_http_methods(["GET", "POST"])
def call_forwarding(request: HttpRequest) -> HttpResponseBase:
    user = member_of(request)
    tab = request.GET.get("tab", "forwarding")
    tab = tab if tab in TABS else "forwarding"
    if request.method == "POST":
        return _post_forwarding(request, user)
    context = {
        **_page_context(request, tab),
        "values": _forwarding_values(user),
        "errors": {},
        "rows": _rows_from_rules(user),
    }
    return render(request, "selfcare/call_forwarding.html", context)


def _post_forwarding(request: HttpRequest, user: User) -> HttpResponseBase:
    data = request.POST
    values = {name: data.get(name, "").strip() for name in ("always", "busy", "no_answer", "unreachable")}
    values["no_answer_seconds"] = data.get("no_answer_seconds", "").strip()
    try:
        forwarding.save_forwarding(
            user=user,
            always=values["always"],
            busy=values["busy"],
            no_answer=values["no_answer"],
            no_answer_seconds=values["no_answer_seconds"],
            unreachable=values["unreachable"],
        )
    except ValidationError as error:
        errors = {name.strip("_"): " ".join(texts) for name, texts in error.message_dict.items()}
        return _forwarding_response(request, values, errors, status=422)
    if is_htmx(request):
        return _forwarding_response(request, _forwarding_values(user), {}, saved=True)
    messages.success(request, "Call forwarding saved.")
    return redirect(f"{reverse('selfcare:call_forwarding')}?tab=forwarding")


@member_page
@require_POST
def presence_rules(request: HttpRequest) -> HttpResponseBase:
    user = member_of(request)
    rows = _rows_from_post(request.POST)
    if request.POST.get("add_line") or request.POST.get("remove_line") or request.POST.get("action") == "refresh":
        _edit_lines(rows, request.POST)
        return _presence_response(request, rows)
    if not _save_rules(user, rows):
        for row in rows:
            _padded(row)
        return _presence_response(request, rows, status=422)
    if is_htmx(request):
        return _presence_response(request, _rows_from_rules(user), saved=True)
    messages.success(request, "App Presence rules saved.")
    return redirect(f"{reverse('selfcare:call_forwarding')}?tab=presence")


@member_page
@require_POST
def try_rule(request: HttpRequest) -> HttpResponseBase:
    """ "Test this rule": what would ring for the chosen presence and kind of caller."""
    user = member_of(request)
    presence = request.POST.get("presence", "")
    caller = request.POST.get("caller", "")
    context: dict[str, object] = {"chosen_presence": presence, "chosen_caller": caller}
    try:
        plan = forwarding.try_rule(
            user=user, presence=presence, caller_is_local={"local": True, "outside": False}.get(caller)
        )
    except ValidationError as error:
        context["error"] = " ".join(" ".join(texts) for texts in error.message_dict.values())
        status = 422
    else:
        context["plan"] = plan
        context["rings"] = [step for step in plan.steps if isinstance(step, routing.Ring)]
        status = 200
    if is_htmx(request):
        return render(request, "selfcare/_try_rule_result.html", context, status=status)
    page = {**_page_context(request, "presence"), "values": _forwarding_values(user), "errors": {}}
    page["rows"] = _rows_from_rules(user)
    return render(request, "selfcare/call_forwarding.html", {**page, "tried": context}, status=status)


urlpatterns = [
    path("services/", services, name="services"),
    path("services/call-forwarding/", call_forwarding, name="call_forwarding"),
    path("services/call-forwarding/presence/", presence_rules, name="presence_rules"),
    path("services/call-forwarding/test/", try_rule, name="try_rule"),
]
