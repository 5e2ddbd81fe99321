/**
 * Alert notifications by email over SMTP (nodemailer), one message per firing or resolved alert,
 * plain text with an HTML alternative.
 */
import nodemailer from 'nodemailer';
import type { AlertTransition } from '../alert-engine';
import type { AlertSink } from './alert-sink';

/** Subject and bodies of the email for one transition. */
export function emailContent(t: AlertTransition, publicUrl: string): { subject: string; text: string; html: string } {
  const labels = Object.entries(t.alert.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const status = t.status === 'firing' ? 'FIRING' : 'RESOLVED';
  const link = `${publicUrl.replace(/\/$/, '')}/alerts`;
  const when = new Date(t.at).toISOString();
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return {
    subject: `[${status}] ${t.alert.alert} (${labels})`,
    text: `${status}: ${t.alert.summary}\n\nalert: ${t.alert.alert}\nseverity: ${t.alert.severity}\nlabels: ${labels}\nat: ${when}\n\n${link}\n`,
    html:
      `<p><strong>${status}</strong>: ${esc(t.alert.summary)}</p>` +
      `<table><tr><td>alert</td><td>${esc(t.alert.alert)}</td></tr><tr><td>severity</td><td>${t.alert.severity}</td></tr>` +
      `<tr><td>labels</td><td>${esc(labels)}</td></tr><tr><td>at</td><td>${when}</td></tr></table>` +
      `<p><a href="${esc(link)}">Open the Tributary dashboard</a></p>`,
  };
}

/** An SMTP sink. `smtpUrl` as nodemailer takes it: `smtp://user:pass@host:port`, `smtps://...`. */
export function emailSink(smtpUrl: string, from: string, to: string[], publicUrl: string): AlertSink {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    name: 'email',
    target: `${new URL(smtpUrl).host} -> ${to.join(', ')}`,
    send: async (t) => {
      await transport.sendMail({ from, to, ...emailContent(t, publicUrl) });
    },
    close: () => transport.close(),
  };
}
