-- The 10 counterparties with the most revenue (per currency), with their current legal name.
-- Orders point at the counterparty version of their creation time; the name shown is the current one.
SELECT cur.counterparty_id,
       cur.counterparty_legal_name,
       c.currency_code,
       count(*)                                       AS orders,
       round(sum(f.units_sold * f.unit_price)::numeric, 2) AS revenue
FROM warehouse.fact_sales_order f
JOIN warehouse.dim_counterparty v   ON v.dim_counterparty_sk = f.counterparty_sk
JOIN warehouse.dim_counterparty cur ON cur.counterparty_id = v.counterparty_id AND cur.is_current
JOIN warehouse.dim_currency c       ON c.currency_id = f.currency_id
GROUP BY 1, 2, 3
ORDER BY revenue DESC, cur.counterparty_id
LIMIT 10;
