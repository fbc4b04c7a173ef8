import nodemailer from "nodemailer";
import { type Notice, renderEmail } from "./message.ts";

export type Mailer = {
  send: (to: string[], notice: Notice) => Promise<void>;
  sendRaw: (to: string, subject: string, text: string) => Promise<void>;
};

/** SMTP through nodemailer; `smtpUrl` like smtp://user:pass@mail.example.com:587 (smtps:// for implicit TLS). */
export function createMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    send: async (to, notice) => {
      const { subject, text } = renderEmail(notice);
      await transport.sendMail({ from, to, subject, text });
    },
    sendRaw: async (to, subject, text) => {
      await transport.sendMail({ from, to, subject, text });
    },
  };
}
