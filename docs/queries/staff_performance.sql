-- Staff performance: orders, units, revenue (GBP orders) and on-time delivery rate per sales person,
-- credited to the department they were in when each order was created.
SELECT s.staff_id,
       s.first_name || ' ' || s.last_name             AS staff_name,
       s.department_name,
       count(*)                                       AS orders,
       sum(f.units_sold)                              AS units,
       round(sum(f.units_sold * f.unit_price) FILTER (WHERE c.currency_code = 'GBP')::numeric, 2) AS revenue_gbp,
       round(avg(CASE WHEN f.delivered_at::date <= f.agreed_delivery_date THEN 1.0 ELSE 0.0 END)
             FILTER (WHERE f.delivered_at IS NOT NULL), 3) AS on_time_rate
FROM warehouse.fact_sales_order f
JOIN warehouse.dim_staff s    ON s.dim_staff_sk = f.sales_staff_sk
JOIN warehouse.dim_currency c ON c.currency_id = f.currency_id
GROUP BY 1, 2, 3
ORDER BY orders DESC, s.staff_id, s.department_name;
