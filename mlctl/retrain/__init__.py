"""Drift-triggered retraining (`mlctl retrain`) and the live performance watch
(`mlctl monitor performance`).

    from mlctl.retrain.api import retrain          # one decision, recorded in the history
    from mlctl.retrain.api import performance      # live accuracy per version, rollback

(the policy, retrain.yaml, is read and validated by mlctl/retrain/policy.py)
"""
