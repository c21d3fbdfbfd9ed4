"""Metrics: sampling estimators, partition metrics, the DARLING reward, lexical and embedding diversity."""
