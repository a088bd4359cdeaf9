"""The admin page that closes a total-average period: preview what it re-costs, then close it.

It needs `allocation.run_allocation` (403 without it); a refusal (a period that has not ended, one
already closed) is an error message on the page, never a 500.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from allocation.admin_views import domain_error_message, require_run_permission
from allocation.forms import PeriodCloseForm
from allocation.models import ClosedPeriod
from allocation.periods import period_close
from inventory_alloc.errors import DomainError

RECOSTED_SHOWN = 100  # rows of the preview; the count of the others and every final average follow


def period_close_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Show what closing a total-average period re-costs (a dry run), then close it."""
    require_run_permission(request)
    form = PeriodCloseForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        # Close only the period that was just previewed, never one typed after the preview.
        commit = "close" in request.POST and request.POST.get("previewed") == form.cleaned_data["period"]
        try:
            report = period_close(period=form.cleaned_data["period"], user=request.user, dry_run=not commit)
        except DomainError as error:
            model_admin.message_user(request, domain_error_message(error), messages.ERROR)
        else:
            if commit:
                model_admin.message_user(request, _("Period %(period)s closed: %(count)s results re-costed.") % {
                    "period": report.period, "count": len(report.recosted)}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:allocation_closedperiod_changelist"))
    recosted = report.recosted[:RECOSTED_SHOWN] if report else []
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/allocation/closedperiod/close_period.html", {
        **model_admin.admin_site.each_context(request),
        "title": _("Close a total-average period"), "opts": ClosedPeriod._meta, "form": form, "report": report,
        "recosted": recosted, "recosted_not_shown": len(report.recosted) - len(recosted) if report else 0,
    })
