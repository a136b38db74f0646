"""Request guards for inputs Django's own admin answers with a 500 (found by tests/portal/test_fuzz_no_500.py)."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.http import HttpResponseBadRequest

TO_FIELD_VAR = "_to_field"


class AdminToFieldGuard:
    """Answer 400 to an admin ``_to_field`` that is empty or names no concrete field of the model.

    Django 5.2's admin checks ``_to_field`` only when it is non-empty, then looks
    the field up (``get_object``, ``to_field_allowed``): an empty value raises
    ``FieldDoesNotExist`` and a reverse relation's name ``AttributeError``, both
    a 500. A real field name goes on to Django's own check (400 if not allowed).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        model_admin = getattr(view_func, "model_admin", None)
        if model_admin is None:
            return None
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field is None:
            return None
        try:
            concrete = model_admin.opts.get_field(to_field).concrete
        except FieldDoesNotExist:
            concrete = False
        if not concrete:
            return HttpResponseBadRequest(f"{TO_FIELD_VAR}={to_field[:40]!r} is not a field of "
                                          f"{model_admin.opts.verbose_name}.", content_type="text/plain")
        return None
