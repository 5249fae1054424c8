# -*- coding: utf-8 -*-
# Copyright: poolcraft.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan, then apply: a manager returns Actions; check mode only reads their descriptions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Action(object):
    """One change: what it does in words, and the function that does it."""

    def __init__(self, description, apply):
        self.description = description
        self._apply = apply

    def apply(self):
        return self._apply()

    def __repr__(self):
        return "Action(%r)" % self.description
