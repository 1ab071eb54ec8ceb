-- How many ratings each item had when its rating model was trained: the model's blend weighs
-- its predictions by it (a well-rated item's factors and neighbours are trusted more). NULL in
-- versions trained before the blend, which are served without it.
ALTER TABLE model_item_factors ADD COLUMN ratings integer CHECK (ratings >= 0);
