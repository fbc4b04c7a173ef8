import { clsx } from "clsx";
import { AlertOctagon, AlertTriangle, Info } from "lucide-react";
import { RelativeTime } from "../ui/relative-time.tsx";

export type TimelineEvent = {
  id: bigint | number | string;
  ts: Date;
  type: string;
  level: string;
  message: string | null;
};

const levelIcon = {
  error: { icon: AlertOctagon, className: "text-red-600 dark:text-red-400" },
  warn: { icon: AlertTriangle, className: "text-amber-600 dark:text-amber-400" },
  info: { icon: Info, className: "text-sky-600 dark:text-sky-400" },
  debug: { icon: Info, className: "text-slate-400" },
} as const;

/** A run's structured events (BACKUP_STARTING, RESTORE_PROGRESS, …), oldest first, newest at the bottom. */
export function EventTimeline({ events }: { events: TimelineEvent[] }) {
  if (events.length === 0) {
    return <p className="text-sm text-slate-600 dark:text-slate-400">No events yet.</p>;
  }
  return (
    <ol
      className="relative space-y-3 border-l border-slate-200 pl-5 dark:border-slate-800"
      data-testid="event-timeline"
    >
      {events.map((event) => {
        const { icon: Icon, className } = levelIcon[event.level as keyof typeof levelIcon] ?? levelIcon.info;
        return (
          <li key={String(event.id)} className="relative">
            <span className="absolute top-0.5 -left-[1.72rem] rounded-full bg-white dark:bg-slate-900">
              <Icon className={clsx("size-4", className)} aria-hidden />
            </span>
            <div className="flex flex-wrap items-baseline gap-x-3 gap-y-0.5">
              <code className="text-xs font-semibold">{event.type}</code>
              <span className="text-xs text-slate-600 dark:text-slate-400">
                <RelativeTime date={event.ts} />
              </span>
              <span className="sr-only">level {event.level}</span>
            </div>
            {event.message && <p className="text-sm break-words">{event.message}</p>}
          </li>
        );
      })}
    </ol>
  );
}
