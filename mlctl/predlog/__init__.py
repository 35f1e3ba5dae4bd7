"""The prediction log: what a model server saw and answered (serving writes it; monitoring
and retraining read it). Its door is ``mlctl.predlog.api``."""
