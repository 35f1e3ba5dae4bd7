"""Fit a classifier on the training set and save it as model.pkl."""

import pickle

import pandas as pd
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

params = yaml.safe_load(open("params.yaml"))["train"]
train = pd.read_csv("data/prepared/train.csv")
X, y = train.drop(columns=["malignant"]), train["malignant"]
if params["model"] == "rf":
    model = RandomForestClassifier(n_estimators=int(params.get("n_estimators", 100)), random_state=0)
else:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=float(params["C"]), max_iter=int(params["max_iter"])))
model.fit(X, y)
with open("model.pkl", "wb") as f:
    pickle.dump(model, f)
print(f"trained {params['model']} on {len(train)} rows")
