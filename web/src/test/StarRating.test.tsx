import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StarRating } from "../components/StarRating";

afterEach(cleanup);

function Controlled({ initial, onChange }: { initial: number | null; onChange: (value: number) => void }) {
  const [value, setValue] = useState(initial);
  return (
    <StarRating
      value={value}
      onChange={(stars) => {
        setValue(stars);
        onChange(stars);
      }}
    />
  );
}

describe("StarRating", () => {
  it("offers ten half stars from 0.5 to 5, each a radio named by its value", () => {
    render(<StarRating value={null} onChange={() => {}} />);
    const names = screen.getAllByRole("radio").map((radio) => radio.getAttribute("aria-label"));
    expect(names).toEqual([
      "0.5 stars",
      "1 star",
      "1.5 stars",
      "2 stars",
      "2.5 stars",
      "3 stars",
      "3.5 stars",
      "4 stars",
      "4.5 stars",
      "5 stars",
    ]);
    expect(screen.getByRole("group", { name: "Your rating" })).toBeTruthy();
    expect(screen.getAllByRole("radio").filter((radio) => (radio as HTMLInputElement).checked)).toEqual([]);
  });

  it("checks the radio of the current value", () => {
    render(<StarRating value={3.5} onChange={() => {}} />);
    expect((screen.getByRole("radio", { name: "3.5 stars" }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole("radio", { name: "4 stars" }) as HTMLInputElement).checked).toBe(false);
  });

  it("reports the half star clicked", async () => {
    const onChange = vi.fn();
    render(<Controlled initial={null} onChange={onChange} />);
    await userEvent.click(screen.getByRole("radio", { name: "4.5 stars" }));
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenLastCalledWith(4.5);
  });

  it("moves half a star with the arrow keys", async () => {
    const onChange = vi.fn();
    const user = userEvent.setup();
    render(<Controlled initial={3} onChange={onChange} />);
    screen.getByRole("radio", { name: "3 stars" }).focus();
    await user.keyboard("{ArrowRight}");
    expect(onChange).toHaveBeenLastCalledWith(3.5);
    await user.keyboard("{ArrowRight}");
    expect(onChange).toHaveBeenLastCalledWith(4);
    await user.keyboard("{ArrowLeft}{ArrowLeft}{ArrowLeft}");
    expect(onChange).toHaveBeenLastCalledWith(2.5);
    expect(onChange.mock.calls.map(([value]) => value)).toEqual([3.5, 4, 3.5, 3, 2.5]);
    expect((screen.getByRole("radio", { name: "2.5 stars" }) as HTMLInputElement).checked).toBe(true);
    expect(document.activeElement).toBe(screen.getByRole("radio", { name: "2.5 stars" }));
  });

  it("takes no choice while disabled", async () => {
    const onChange = vi.fn();
    render(<StarRating value={2} onChange={onChange} disabled />);
    await userEvent.click(screen.getByRole("radio", { name: "5 stars" }));
    expect(onChange).not.toHaveBeenCalled();
  });
});
