"""The interactive planning page behind ``evplant serve``: edit a scenario in the
browser and see the answer in seconds.

Modules: ``levers`` (which values the form offers, and what the schema says of each),
``edits`` (the form as ``--set`` items, checked by the one input pipeline), ``jobs``
(two pools of workers, quick reruns and long jobs: progress, cancel), ``work`` (what a
job runs: simulate, compare_mc, run_mc, calibrate, write_run), ``sessions`` (one per
open tab, kept while it polls), ``requests`` (what a callback request must look like),
``leftovers`` (the server's temporary folder and the locks of dead servers), ``views``
(results as components, from the report's builders), ``layout`` (the page),
``safety`` (limits), ``app`` (the Dash app, its callbacks and routes, and ``serve``).
"""

from __future__ import annotations

from .app import PageApp, serve

__all__ = ["PageApp", "serve"]
