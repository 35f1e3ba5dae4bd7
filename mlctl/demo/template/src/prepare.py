"""Split the raw patients table into a training set and a holdout set."""

import os

import pandas as pd
import yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
raw = pd.read_csv("data/raw/patients.csv")
holdout = raw.sample(frac=params["holdout_fraction"], random_state=params["seed"])
train = raw.drop(holdout.index)
os.makedirs("data/prepared", exist_ok=True)
train.to_csv("data/prepared/train.csv", index=False)
holdout.to_csv("data/prepared/holdout.csv", index=False)
print(f"prepared {len(train)} training rows, {len(holdout)} holdout rows")
