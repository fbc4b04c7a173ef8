"use client";

import { Download, ShieldCheck } from "lucide-react";
import QRCode from "qrcode";
import { type FormEvent, useEffect, useState } from "react";
import { authClient } from "../../lib/auth-client.ts";
import { downloadText } from "../../lib/download.ts";
import { Badge } from "../ui/badge.tsx";
import { Button } from "../ui/button.tsx";
import { Card, CardBody, CardHeader } from "../ui/card.tsx";
import { CopyButton } from "../ui/copy-button.tsx";
import { Field } from "../ui/field.tsx";
import { Input } from "../ui/input.tsx";

type Setup = { totpURI: string; backupCodes: string[] };

/** The QR code of the otpauth:// URI, drawn in the browser (npm qrcode): the secret never leaves the page. */
function TotpQrCode({ uri }: { uri: string }) {
  const [dataUrl, setDataUrl] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    QRCode.toDataURL(uri, { margin: 1, width: 200, errorCorrectionLevel: "M" }).then((url) => {
      if (current) setDataUrl(url);
    });
    return () => {
      current = false;
    };
  }, [uri]);
  return (
    <div className="flex size-[200px] items-center justify-center rounded-md bg-white p-1">
      {dataUrl && (
        // biome-ignore lint/performance/noImgElement: a data: URL drawn in the browser, nothing for next/image to do
        <img src={dataUrl} width={200} height={200} alt="QR code for your authenticator app" data-testid="totp-qr" />
      )}
    </div>
  );
}

function BackupCodes({ codes }: { codes: string[] }) {
  const text = `e3 backup: two-factor backup codes (each works once)\n\n${codes.join("\n")}\n`;
  const download = () => downloadText("e3-backup-codes.txt", text);
  return (
    <div className="space-y-2">
      <p className="text-sm font-medium">Backup codes</p>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        Keep these somewhere safe. Each signs you in once if you lose your authenticator; they are not shown again.
      </p>
      <ul className="grid grid-cols-2 gap-1 font-mono text-sm" data-testid="backup-codes">
        {codes.map((code) => (
          <li key={code} className="rounded bg-slate-100 px-2 py-1 dark:bg-slate-800">
            {code}
          </li>
        ))}
      </ul>
      <div className="flex gap-2">
        <CopyButton text={codes.join("\n")} label="Copy codes" />
        <Button variant="secondary" size="sm" onClick={download}>
          <Download aria-hidden /> Download
        </Button>
      </div>
    </div>
  );
}

/** Optional TOTP: turned on with the password, confirmed by a first code, with backup codes; off with the password. */
export function TwoFactorCard({ enabled }: { enabled: boolean }) {
  const [setup, setSetup] = useState<Setup | null>(null);
  const [freshCodes, setFreshCodes] = useState<string[] | null>(null);
  const [mode, setMode] = useState<"idle" | "enable" | "disable" | "codes">("idle");
  const [errors, setErrors] = useState<{ password?: string; code?: string; form?: string }>({});
  const [pending, setPending] = useState(false);

  function reset() {
    setMode("idle");
    setErrors({});
    setPending(false);
  }

  async function withPassword(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password"));
    if (!password) return setErrors({ password: "is required" });
    setPending(true);
    setErrors({});
    const result =
      mode === "enable"
        ? await authClient.twoFactor.enable({ password })
        : mode === "disable"
          ? await authClient.twoFactor.disable({ password })
          : await authClient.twoFactor.generateBackupCodes({ password });
    setPending(false);
    if (result.error) {
      setErrors({
        password: result.error.code === "INVALID_PASSWORD" ? "is not your current password" : undefined,
        form: result.error.code === "INVALID_PASSWORD" ? undefined : (result.error.message ?? "That did not work."),
      });
      return;
    }
    const data = result.data as { totpURI?: string; backupCodes?: string[] };
    if (mode === "enable" && data.totpURI && data.backupCodes)
      setSetup({ totpURI: data.totpURI, backupCodes: data.backupCodes });
    if (mode === "codes" && data.backupCodes) setFreshCodes(data.backupCodes);
    if (mode === "disable") setFreshCodes(null);
    setMode("idle");
  }

  async function confirmCode(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code")).replace(/\s/g, "");
    setPending(true);
    setErrors({});
    const result = await authClient.twoFactor.verifyTotp({ code });
    setPending(false);
    if (result.error) {
      setErrors({ code: "is not the current code; check the app and the device's clock" });
      return;
    }
    setSetup(null);
  }

  const secret = setup ? new URL(setup.totpURI).searchParams.get("secret") : null;

  return (
    <Card aria-labelledby="two-factor-heading">
      <CardHeader
        id="two-factor-heading"
        title="Two-factor authentication"
        description="A code from an authenticator app (TOTP) at every sign-in, besides the password."
        actions={
          enabled && !setup ? (
            <Badge tone="green">
              <ShieldCheck className="size-3.5" aria-hidden /> On
            </Badge>
          ) : (
            <Badge tone="grey">Off</Badge>
          )
        }
      />
      <CardBody className="space-y-4">
        {setup ? (
          <div className="space-y-4">
            <p className="text-sm">
              Scan this code with your authenticator app (or type the key), then enter the 6-digit code it shows.
            </p>
            <div className="flex flex-wrap items-start gap-6">
              <TotpQrCode uri={setup.totpURI} />
              <div className="min-w-0 space-y-2 text-sm">
                <p className="font-medium">Key for manual entry</p>
                <p className="font-mono break-all" data-testid="totp-secret">
                  {secret}
                </p>
                <CopyButton text={setup.totpURI} label="Copy otpauth link" />
              </div>
            </div>
            <BackupCodes codes={setup.backupCodes} />
            <form onSubmit={confirmCode} className="flex flex-wrap items-end gap-3" noValidate>
              <Field label="Code from the app" error={errors.code} className="w-48">
                <Input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={7} required />
              </Field>
              <Button type="submit" pending={pending}>
                Turn on
              </Button>
            </form>
          </div>
        ) : mode !== "idle" ? (
          <form onSubmit={withPassword} className="flex flex-wrap items-end gap-3" noValidate>
            <Field label="Confirm with your password" error={errors.password} className="w-64">
              <Input name="password" type="password" autoComplete="current-password" required autoFocus />
            </Field>
            <Button type="submit" pending={pending} variant={mode === "disable" ? "danger" : "primary"}>
              {mode === "enable" ? "Continue" : mode === "disable" ? "Turn off" : "Make new codes"}
            </Button>
            <Button variant="ghost" onClick={reset}>
              Cancel
            </Button>
          </form>
        ) : enabled ? (
          <div className="flex flex-wrap gap-2">
            <Button variant="secondary" onClick={() => setMode("codes")}>
              New backup codes
            </Button>
            <Button variant="danger" onClick={() => setMode("disable")}>
              Turn off two-factor
            </Button>
          </div>
        ) : (
          <Button onClick={() => setMode("enable")}>Set up two-factor authentication</Button>
        )}
        {freshCodes && !setup && <BackupCodes codes={freshCodes} />}
        {errors.form && (
          <p role="alert" className="text-sm font-medium text-red-700 dark:text-red-400">
            {errors.form}
          </p>
        )}
      </CardBody>
    </Card>
  );
}
