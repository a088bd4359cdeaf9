"""The base of every CSV/Excel import: rows written through the services of their model, plain row errors.

Imports run through import-export's two steps (a dry run with a preview of every row and its errors,
then the confirmation), so a file with one bad row saves nothing. A resource names the services that
write its model (`writes`); a service's refusal is that row's error, in the service's words.
"""
from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.results import Result

from inventory_alloc.errors import DomainError
from inventory_alloc.records import Writes


class CodeWidget(widgets.ForeignKeyWidget):
    """A foreign key by its code, with a plain "no such code" error instead of DoesNotExist."""

    def clean(self, value, row=None, **kwargs):
        value = str(value).strip() if value is not None else ""
        if not value:
            return None
        try:
            return super().clean(value, row=row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(_('No %(model)s "%(value)s".') % {"model": self.model._meta.verbose_name, "value": value})


class PlainNumber:
    """Exports numbers as they are stored ("1410.00"), never with the page's thousands separators: a file is
    read by programs too. Excel files get the numbers themselves."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else str(value)


class WholeNumberWidget(PlainNumber, widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(_('"%(value)s" is not a whole number.') % {"value": value})


class NumberWidget(PlainNumber, widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (ArithmeticError, ValueError):
            raise ValueError(_('"%(value)s" is not a number.') % {"value": value})


class SpreadsheetResult(Result):
    """An import's result with rows numbered as the spreadsheet shows them: the header is row 1, so the
    first data row is row 2 (import-export counts data rows from 1)."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)

    def row_errors(self):
        return [(row.number, row.errors) for row in self.error_rows]


class PlainNumbersResource(resources.ModelResource):
    """A model resource whose number columns export plainly and import with a plain row error, and whose
    import errors name the spreadsheet's own row numbers."""

    @classmethod
    def widget_from_django_field(cls, f, default=widgets.Widget):
        widget = super().widget_from_django_field(f, default)
        return {widgets.IntegerWidget: WholeNumberWidget, widgets.DecimalWidget: NumberWidget}.get(widget, widget)

    def get_result_class(self):
        return SpreadsheetResult


def row_error(error: DomainError, field: str = NON_FIELD_ERRORS) -> ValidationError:
    """Return a service's refusal as the row's validation error, which the import shows on the row."""
    return ValidationError({getattr(error, "field", None) or field: error.message})


class BackOfficeResource(PlainNumbersResource):
    """A model resource that writes through its model's services (`writes`, on the fields `write_fields`)."""

    writes: Writes | None = None

    def before_import(self, dataset, **kwargs) -> None:
        self.user = kwargs.get("user")
        super().before_import(dataset, **kwargs)

    def write_values(self, instance) -> dict:
        return {field.attribute: getattr(instance, field.attribute) for field in self.get_import_fields()
                if field.attribute and "__" not in field.attribute}

    def do_instance_save(self, instance, is_create: bool) -> None:
        values = self.write_values(instance)
        try:
            if is_create:
                saved = self.writes.create_with(values, getattr(self, "user", None))
            else:
                saved = self.writes.update_with(instance, values, getattr(self, "user", None))
        except DomainError as error:
            raise row_error(error) from error
        instance.pk = saved.pk
