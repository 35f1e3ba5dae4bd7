"""Drift-triggered retraining (`mlctl retrain`) and the live performance watch
(`mlctl monitor performance`).

    from mlctl.retrain.retrain import retrain          # one decision, recorded in the history
    from mlctl.retrain.policy import load_policy       # retrain.yaml, validated
    from mlctl.retrain.performance import performance  # live accuracy per version, rollback
"""
