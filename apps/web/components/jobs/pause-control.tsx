"use client";

import { ChevronDown, Pause, Play } from "lucide-react";
import { Button } from "../ui/button.tsx";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuTrigger,
} from "../ui/dropdown-menu.tsx";

// Pause or resume a job's schedule from the jobs table. Pausing stops scheduled runs only: a run in progress goes on,
// "Run now" still works, and the dashboard shows the job as paused instead of overdue.

const hour = 3_600_000;
export const pauseChoices = [
  { label: "Until I resume it", ms: null },
  { label: "For 1 hour", ms: hour },
  { label: "For 1 day", ms: 24 * hour },
  { label: "For 1 week", ms: 7 * 24 * hour },
] as const;

export function PauseControl({
  jobName,
  paused,
  pending,
  onPause,
  onResume,
}: {
  jobName: string;
  paused: boolean;
  pending: boolean;
  onPause: (until: Date | null) => void;
  onResume: () => void;
}) {
  if (paused) {
    return (
      <Button size="sm" variant="ghost" onClick={onResume} pending={pending}>
        <Play aria-hidden /> Resume<span className="sr-only">: {jobName}</span>
      </Button>
    );
  }
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button size="sm" variant="ghost" pending={pending}>
          <Pause aria-hidden /> Pause<span className="sr-only">: {jobName}</span>
          <ChevronDown aria-hidden />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>Pause the schedule</DropdownMenuLabel>
        {pauseChoices.map((choice) => (
          <DropdownMenuItem
            key={choice.label}
            onSelect={() => onPause(choice.ms === null ? null : new Date(Date.now() + choice.ms))}
          >
            {choice.label}
          </DropdownMenuItem>
        ))}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
