"""Template filters for the words in ``portal.home.words``."""

from __future__ import annotations

from django import template

from portal.home import words

register = template.Library()
register.filter("problem_label", words.problem_label)
register.filter("action_words", words.action_words)
register.filter("param_items", words.param_items)
register.filter("copy_option_items", words.copy_option_items)
register.filter("data_run_param_items", words.data_run_param_items)
register.filter("copy_choice", words.copy_choice)
register.filter("pair_items", words.pair_items)
