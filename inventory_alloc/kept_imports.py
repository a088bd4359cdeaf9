"""An import's file kept for a retry.

A file input cannot be refilled by a page, so after a try that found errors (a bad row, a missing item, the wrong
format) the import page keeps the file the clerk chose: import-export already wrote it to its temporary storage
(the same storage its confirmation step reads), and the page's form now names it in a signed hidden field. Pressing
Submit again without choosing a file checks the kept one again (say, after adding the missing item, or with the
right format); choosing a file replaces it. The reference is signed with the site's key and bound to the user, and
lasts an hour: a forged, foreign or expired one is a plain error on the file field, and nothing is imported.
"""
from __future__ import annotations

from django import forms
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext_lazy as _
from unfold.contrib.import_export.forms import ImportForm

SALT = "inventory_alloc.kept-import"
MAX_AGE = 3600  # seconds a kept file may be checked again
GONE = _("The file kept from the last try is no longer available: choose the file again.")


class KeptFileImportForm(ImportForm):
    """The import form, whose file may also be the one kept from the user's last try."""

    kept_file = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, read_kept=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].required = False  # checked in clean(): a new file, or the kept one
        self.read_kept = read_kept
        self.user_pk = getattr(user, "pk", None)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("import_file") or "import_file" in self.errors:
            return cleaned
        token = cleaned.get("kept_file")
        if not token:
            self.add_error("import_file", self.fields["import_file"].error_messages["required"])
            return cleaned
        kept = self.kept(token)
        if kept is None:
            self.add_error("import_file", GONE)
            return cleaned
        cleaned["import_file"] = self.kept_upload = kept
        return cleaned

    def kept(self, token: str) -> SimpleUploadedFile | None:
        """Return the kept file `token` names, if it is this user's, recent, and still in the storage."""
        try:
            reference = signing.loads(token, salt=SALT, max_age=MAX_AGE)
        except signing.BadSignature:
            return None
        if not isinstance(reference, dict) or reference.get("user") != self.user_pk or self.read_kept is None:
            return None
        content = self.read_kept(str(reference.get("tmp", "")))
        return SimpleUploadedFile(str(reference.get("name", "import")), content) if content else None

    def keep(self, uploaded) -> None:
        """Name `uploaded` (already in the temporary storage) in the form as it is shown again, and say so."""
        token = signing.dumps({"tmp": uploaded.tmp_storage_name, "name": uploaded.name, "user": self.user_pk}, salt=SALT)
        self.data = self.data.copy()
        self.data["kept_file"] = token
        self.kept_name = uploaded.name
        note = _("%(name)s is kept: press Submit to check it again, or choose a corrected file.") % {"name": uploaded.name}
        self.fields["import_file"].help_text = self["import_file"].help_text = note  # the bound field copied it already


class KeepsImportFile:
    """Mixed into an import admin: its form keeps the file of a try that found errors (see the module)."""

    import_form_class = KeptFileImportForm

    def get_import_form_kwargs(self, request):
        return {**super().get_import_form_kwargs(request), "read_kept": self.read_kept_file, "user": request.user}

    def read_kept_file(self, name: str) -> bytes | None:
        storage = self.get_tmp_storage_class()(name=name, read_mode="rb", **self.get_tmp_storage_class_kwargs())
        try:
            data = storage.read()
        except OSError:
            return None
        return data.encode() if isinstance(data, str) else data

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        form, result = context.get("form"), context.get("result")
        # the file of this try: a new one, or the kept one read again (a read error takes it out of cleaned_data)
        uploaded = request.FILES.get("import_file") or getattr(form, "kept_upload", None)
        failed = bool(form is not None and form.errors) or (
            result is not None and (result.has_errors() or result.has_validation_errors()))
        if failed and getattr(uploaded, "tmp_storage_name", None):
            form.keep(uploaded)
        return response
