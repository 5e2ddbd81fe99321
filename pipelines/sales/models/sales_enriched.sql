-- Each sales order with the versions of its dimensions current when it was created.
SELECT f.sales_order_id,
       f.created_at,
       d.date_id AS created_date,
       d.year_month AS created_month,
       f.units_sold,
       f.unit_price,
       f.units_sold * f.unit_price AS revenue,
       c.currency_code,
       ds.design_name,
       l.country AS delivery_country,
       l.city AS delivery_city,
       s.first_name || ' ' || s.last_name AS staff_name,
       s.department_name,
       cp.counterparty_legal_name,
       f.agreed_delivery_date,
       f.delivered_at
FROM {{ ref('fact_sales_order') }} f
JOIN {{ ref('dim_date') }} d ON d.date_id = f.created_at::date
LEFT JOIN {{ ref('dim_currency') }} c ON c.currency_id = f.currency_id
LEFT JOIN {{ ref('dim_design') }} ds ON ds.dim_design_sk = f.design_sk
LEFT JOIN {{ ref('dim_location') }} l ON l.dim_location_sk = f.delivery_location_sk
LEFT JOIN {{ ref('dim_staff') }} s ON s.dim_staff_sk = f.sales_staff_sk
LEFT JOIN {{ ref('dim_counterparty') }} cp ON cp.dim_counterparty_sk = f.counterparty_sk
