"""Score model.pkl on the holdout set; write metrics.json."""

import json
import pickle

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

holdout = pd.read_csv("data/prepared/holdout.csv")
X, y = holdout.drop(columns=["malignant"]), holdout["malignant"]
with open("model.pkl", "rb") as f:
    model = pickle.load(f)
metrics = {
    "accuracy": round(float(accuracy_score(y, model.predict(X))), 4),
    "f1": round(float(f1_score(y, model.predict(X))), 4),
    "roc_auc": round(float(roc_auc_score(y, model.predict_proba(X)[:, 1])), 4),
}
with open("metrics.json", "w") as f:
    json.dump(metrics, f, indent=2)
print("holdout " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
