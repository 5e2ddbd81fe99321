-- Revenue by design and region (delivery country) per month, in each order's currency.
-- Design and location are the versions current when the order was created (scd2 lookups).
SELECT d.year_month                                   AS month,
       ds.design_name,
       l.country                                      AS region,
       c.currency_code,
       count(*)                                       AS orders,
       sum(f.units_sold)                              AS units,
       round(sum(f.units_sold * f.unit_price)::numeric, 2) AS revenue
FROM warehouse.fact_sales_order f
JOIN warehouse.dim_date d      ON d.date_id = f.created_at::date
JOIN warehouse.dim_design ds   ON ds.dim_design_sk = f.design_sk
JOIN warehouse.dim_location l  ON l.dim_location_sk = f.delivery_location_sk
JOIN warehouse.dim_currency c  ON c.currency_id = f.currency_id
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;
