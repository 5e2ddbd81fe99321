-- Revenue per design, delivery country and month of order creation, per currency.
SELECT created_month, design_name, delivery_country, currency_code,
       count(*) AS orders, sum(units_sold) AS units, round(sum(revenue)::numeric, 2) AS revenue
FROM {{ ref('sales_enriched') }}
GROUP BY created_month, design_name, delivery_country, currency_code
