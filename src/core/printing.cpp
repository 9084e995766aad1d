// placeholder: owned by its area, replaced as it lands
