"""Recommenders behind one small interface (base.Recommender), shared by the API and the evaluation."""
