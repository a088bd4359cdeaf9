"""The admin's base: every change form, delete page and bulk delete writes through the services.

A ModelAdmin names the services that write its model (`writes`, see
`inventory_alloc.records.Writes`). Saving a change form calls `update` with
the changed fields (or `create`), deleting calls `delete`, and the delete
page and the "delete selected" action ask `delete` first (as a dry run), so a
refusal is shown in the service's words ("… holds allocations for 180 units:
release them first") before anything is confirmed. A refusal that only shows
at save time (another user got there first) rolls the whole request back and
comes back as an error message; nothing is half written.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import actions as django_actions
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.formats import base_formats
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.contrib.import_export.forms import SelectableFieldsExportForm

from inventory_alloc.display import money
from inventory_alloc.errors import DomainError
from inventory_alloc.records import Writes

REFUSALS = (DomainError, ValidationError)

# --- exports that a spreadsheet cannot turn against its reader -------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralised(cell: object) -> object:
    """Return a text cell that a spreadsheet would read as a formula with a leading apostrophe (OWASP's advice).

    `=HYPERLINK(...)`, `+1+cmd|...`, `@SUM(...)` and cells opening with a tab or a line break become plain
    text; numbers, including negative ones written as text, stay as they are.
    """
    if not isinstance(cell, str) or not cell.startswith(FORMULA_STARTS):
        return cell
    if cell[0] in "+-":
        try:
            float(cell)
            return cell
        except ValueError:
            pass
    return "'" + cell


class FormulaSafe:
    """An export format that neutralises formulas in every text cell (IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT)."""

    def _escape_formulae(self, dataset) -> None:
        for _row in range(len(dataset)):
            dataset.append([neutralised(cell) for cell in dataset.lpop()])


class ExportColumnsForm(SelectableFieldsExportForm):
    """The export page's column choices, each named by its model field's verbose name in the page's language, with
    the file's column beside it ("Unit cost (unit_cost)"); a column with no model field is named by the resource's
    `labels`, else by its own name."""

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        column = field.column_name if field else field_name
        attribute = (field.attribute or field_name) if field else field_name
        try:
            model_field = resource._meta.model._meta.get_field(attribute.split("__")[0])
        except (AttributeError, FieldDoesNotExist):
            label = getattr(resource, "labels", {}).get(field_name)
            return f"{capfirst(label)} ({column})" if label else super()._get_field_label(resource, field_name)
        return f"{capfirst(model_field.verbose_name)} ({column})"


class BusinessDateExport:
    """Names an export after the model and the business date (TIME_ZONE), not the server's UTC date; its page names
    the columns in the page's language."""

    export_form_class = ExportColumnsForm

    def get_export_filename(self, request, queryset, file_format) -> str:
        return f"{self.model.__name__}-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"


class CSV(FormulaSafe, base_formats.CSV):
    pass


class XLSX(FormulaSafe, base_formats.XLSX):
    pass


EXPORT_FORMATS = [CSV, XLSX]


def refusal_text(error: Exception) -> str:
    """Return what a refused write says: the service's message, or a validation error's messages."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in error.message_dict.items())
    return " ".join(getattr(error, "messages", [str(error)]))


def copy_saved(saved: models.Model, target: models.Model) -> None:
    """Make `target` (the form's instance) the row a service saved: its id and every field."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding, target._state.db = False, saved._state.db


@admin.action(description=_("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
def delete_selected(modeladmin, request, queryset):
    """Django's "delete selected", refused up front (in the service's words) if any row may not go."""
    for obj in queryset.order_by("pk"):
        try:
            modeladmin.writes.delete_with(obj, request.user, dry_run=True)
        except REFUSALS as error:
            modeladmin.message_user(request, refusal_text(error), messages.ERROR)
            return None
    try:
        return django_actions.delete_selected(modeladmin, request, queryset)
    except REFUSALS as error:
        modeladmin.message_user(request, refusal_text(error), messages.ERROR)
        return None


def field_column(name: str, label, shown=None):
    """Return a sortable list column of the field `name` under the heading `label`, written by `shown` (as it
    is when None); put it in the ModelAdmin's class body and list_display."""
    @admin.display(description=label, ordering=name)
    def column(model_admin, obj):
        value = getattr(obj, name)
        return value if shown is None else shown(value)
    column.__name__ = f"{name}_column"
    return column


def money_column(name: str, label, shown=money):
    """Return a list column of the money field `name` as `shown` writes it (money: the CURRENCY's decimals;
    `display.unit_cost`: 4 places)."""
    return field_column(name, label, shown)


def short_choice_column(name: str, label):
    """Return a sortable list column of the choice field `name` showing its label up to any parenthesis:
    "Order date (oldest first)" reads "Order date"."""
    @admin.display(description=label, ordering=name)
    def column(model_admin, obj) -> str:
        return str(getattr(obj, f"get_{name}_display")()).split(" (")[0].split("（")[0]
    column.__name__ = f"{name}_short"
    return column


class ServiceModelAdmin(UnfoldModelAdmin):
    """A ModelAdmin whose saves and deletes go through `writes` (the model's services)."""

    writes: Writes
    actions = [delete_selected]  # replaces the site's own, by name

    def form_changes(self, form, change: bool) -> dict:
        """Return what the form sends to the service: every field on add, the changed ones on change."""
        names = form.changed_data if change else form.cleaned_data
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}

    def save_model(self, request, obj, form, change: bool) -> None:
        fields = self.form_changes(form, change)
        if change and not fields:
            return
        if change:
            saved = self.writes.update_with(obj, fields, request.user)
        else:
            saved = self.writes.create_with(fields, request.user)
        copy_saved(saved, obj)

    def delete_model(self, request, obj) -> None:
        self.writes.delete_with(obj, request.user)

    # The services enter every write in the history (`inventory_alloc.history`), from this door as from the
    # others; the admin's own entries would say it twice.
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for obj in queryset.order_by("pk"):
                self.writes.delete_with(obj, request.user)

    def object_url(self, object_id) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id],
                       current_app=self.admin_site.name)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as error:  # refused at save time (a concurrent change): nothing was written
            self.message_user(request, refusal_text(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        try:
            if obj is not None:
                self.writes.delete_with(obj, request.user, dry_run=True)
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as error:
            self.message_user(request, refusal_text(error), messages.ERROR)
            return HttpResponseRedirect(self.object_url(object_id))
