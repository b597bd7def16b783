"""Pages of a long list: which page a request asks for, from the total alone (Django's paginator over a range,
so that only the rows of the page are read), and the links to the other pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, QueryDict


def _values(request: HttpRequest) -> QueryDict:
    return request.POST if request.method == "POST" else request.GET


def page_number(request: HttpRequest) -> int:
    """The page asked for, from 1 (the first when none or no number is asked)."""
    text = _values(request).get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 8 else 1


@dataclass(frozen=True)
class Pages:
    page: Page[int]  # of row numbers: Django's paginator counts and numbers, the service reads the rows
    filters: str  # the request's other parameters, for the links to the other pages
    form: str = ""  # a posted search: the id of its form, whose buttons ask for the other pages

    @classmethod
    def of(cls, request: HttpRequest, total: int, per_page: int, form: str = "") -> Pages:
        """The page asked for (the first when none or a wrong one is asked, the last when beyond it). With
        ``form``, the other pages are asked by posting that form again (its filters stay out of the address)."""
        page = Paginator(range(total), per_page).get_page(_values(request).get("page"))
        if form:
            return cls(page, "", form)
        others = request.GET.copy()
        others.pop("page", None)
        return cls(page, others.urlencode())

    @classmethod
    def numbered(cls, request: HttpRequest, number: int, total: int, per_page: int) -> Pages:
        """Page ``number`` as a service already chose it (clamped to the pages there are)."""
        others = request.GET.copy()
        others.pop("page", None)
        return cls(Paginator(range(total), per_page).page(number), others.urlencode())

    @property
    def offset(self) -> int:
        return self.page.number * self.page.paginator.per_page - self.page.paginator.per_page
