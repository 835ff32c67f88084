"""The signing page of a subject's casebook (``can_sign``: the investigator of the site)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from saatrial.edc.crf.access import SubjectMixin
from saatrial.edc.signatures.models import Signature
from saatrial.edc.signatures.service import (
    SignatureRefusedError,
    load_meanings,
    sign_casebook,
    signature_status,
)

__all__ = ["SignForm", "SignView"]


class SignForm(forms.Form):
    """Meaning of the signature and the password typed again."""

    meaning = forms.ChoiceField(widget=forms.RadioSelect)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your password, typed again: it is your signature (21 CFR 11.200).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["meaning"].choices = list(load_meanings().meanings.items())


class SignView(SubjectMixin, TemplateView):
    """GET: the casebook's signature state and the signing form; POST: sign."""

    permission = "can_sign"
    template_name = "signatures/sign.html"

    def _render(self, form: SignForm) -> HttpResponse:
        return self.render_to_response(
            self.get_context_data(
                form=form,
                subject=self.subject,
                status=signature_status(self.subject),
                signatures=Signature.objects.filter(subject_id=self.subject.subject_id),
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._render(SignForm())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SignForm(request.POST)
        if form.is_valid():
            try:
                signature = sign_casebook(
                    request.user,
                    self.subject,
                    form.cleaned_data["password"],
                    form.cleaned_data["meaning"],
                    request=request,
                )
            except SignatureRefusedError as err:
                form.add_error(None, str(err))
            else:
                messages.success(
                    request,
                    f"casebook of {self.subject.subject_id} signed: {signature.meaning} "
                    f"(SHA-256 {signature.content_sha256[:16]}...)",
                )
                return HttpResponseRedirect(reverse("crf:subject", args=[self.subject.subject_id]))
        return self._render(form)
