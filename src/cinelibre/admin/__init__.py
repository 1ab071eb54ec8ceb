"""Operations for administrators over HTTP: retraining, catalogue syncs and their history."""
