"""Calibration: learn a scenario's uncertain parameters from the plant's record.

- :mod:`.observations`: the observations CSV (statements: exact, bounds, estimates);
- :mod:`.likelihood`: the observation model;
- :mod:`.config`: the scenario's ``calibration:`` section;
- :mod:`.inference`: the posterior on a common-random-numbers likelihood, by
  :mod:`.smc` (waste-free SMC with adaptive tempering, independent runs) with
  :mod:`.diagnostics` (ArviZ's R-hat and ESS);
- :mod:`.assimilate`: a posterior takes in the record's new months (data tempering);
- :mod:`.outputs`: posterior.parquet, fit.csv, the calibrated scenario.yaml;
- :mod:`.backtest`: rolling origins (a calibration, then assimilation), scored against
  the record and naive forecasts (:mod:`.backtest_report` draws it);
- :mod:`.scores`: proper scores of an ensemble against a statement (CRPS, censored CRPS
  of a bound, interval score);
- :mod:`.baselines`: the naive forecasts a planner would make from the record alone;
- :mod:`.discrepancy`: the model's structural error by horizon, fitted on backtest
  errors, widening the model's ensemble into the predictive one.
"""
