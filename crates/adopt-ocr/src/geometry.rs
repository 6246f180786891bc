//! Plane geometry for text boxes: convex hull, minimum-area rectangle (OpenCV's
//! `minAreaRect` + `boxPoints`, by rotating calipers), and the corner orders PP-OCR uses.

/// A point in pixels.
pub type Point = [f32; 2];

/// A rotated rectangle: its four corners and its two side lengths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedRect {
    pub corners: [Point; 4],
    pub width: f32,
    pub height: f32,
}

impl RotatedRect {
    pub fn shorter_side(&self) -> f32 {
        self.width.min(self.height)
    }

    /// The same rectangle grown by `distance` on every side (what offsetting a rectangle
    /// with round joins and taking the minimum-area rectangle of the result gives).
    pub fn grown(&self, distance: f32) -> RotatedRect {
        let c = self.centre();
        let [p0, p1, _, p3] = self.corners;
        let along = unit([p1[0] - p0[0], p1[1] - p0[1]]);
        let across = unit([p3[0] - p0[0], p3[1] - p0[1]]);
        let a = self.width / 2.0 + distance;
        let b = self.height / 2.0 + distance;
        let corner = |sa: f32, sb: f32| {
            [
                c[0] + sa * a * along[0] + sb * b * across[0],
                c[1] + sa * a * along[1] + sb * b * across[1],
            ]
        };
        RotatedRect {
            corners: [
                corner(-1.0, -1.0),
                corner(1.0, -1.0),
                corner(1.0, 1.0),
                corner(-1.0, 1.0),
            ],
            width: self.width + 2.0 * distance,
            height: self.height + 2.0 * distance,
        }
    }

    fn centre(&self) -> Point {
        let sum = self
            .corners
            .iter()
            .fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [sum[0] / 4.0, sum[1] / 4.0]
    }
}

fn unit(v: Point) -> Point {
    let n = (v[0] * v[0] + v[1] * v[1]).sqrt();
    if n == 0.0 {
        [1.0, 0.0]
    } else {
        [v[0] / n, v[1] / n]
    }
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Convex hull by Andrew's monotone chain, counter-clockwise, no repeated first point.
pub fn convex_hull(mut points: Vec<Point>) -> Vec<Point> {
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area rectangle around `points`, corners ordered as PP-OCR's `get_mini_boxes`
/// orders them: top-left, top-right, bottom-right, bottom-left.
pub fn min_area_rect(points: Vec<Point>) -> Option<RotatedRect> {
    let hull = convex_hull(points);
    let rect = match hull.len() {
        0 => return None,
        1 | 2 => {
            // A dot or a segment: a degenerate axis-aligned box.
            let (mut lo, mut hi) = (hull[0], hull[0]);
            for p in &hull {
                lo = [lo[0].min(p[0]), lo[1].min(p[1])];
                hi = [hi[0].max(p[0]), hi[1].max(p[1])];
            }
            [
                [lo[0], lo[1]],
                [hi[0], lo[1]],
                [hi[0], hi[1]],
                [lo[0], hi[1]],
            ]
        }
        n => {
            let mut best: Option<(f32, [Point; 4])> = None;
            for i in 0..n {
                let a = hull[i];
                let b = hull[(i + 1) % n];
                let e = unit([b[0] - a[0], b[1] - a[1]]);
                let normal = [-e[1], e[0]];
                let (mut min_u, mut max_u, mut min_v, mut max_v) =
                    (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
                for p in &hull {
                    let d = [p[0] - a[0], p[1] - a[1]];
                    let u = d[0] * e[0] + d[1] * e[1];
                    let v = d[0] * normal[0] + d[1] * normal[1];
                    min_u = min_u.min(u);
                    max_u = max_u.max(u);
                    min_v = min_v.min(v);
                    max_v = max_v.max(v);
                }
                let area = (max_u - min_u) * (max_v - min_v);
                if best.as_ref().is_none_or(|(best_area, _)| area < *best_area) {
                    let at = |u: f32, v: f32| {
                        [
                            a[0] + u * e[0] + v * normal[0],
                            a[1] + u * e[1] + v * normal[1],
                        ]
                    };
                    best = Some((
                        area,
                        [
                            at(min_u, min_v),
                            at(max_u, min_v),
                            at(max_u, max_v),
                            at(min_u, max_v),
                        ],
                    ));
                }
            }
            best?.1
        }
    };
    let (w, h) = side_lengths(&rect);
    let corners = mini_box_order(rect);
    // Side lengths follow the corner order: width along top-left -> top-right.
    let top = dist(corners[0], corners[1]);
    let (width, height) = if (top - w).abs() <= (top - h).abs() {
        (w, h)
    } else {
        (h, w)
    };
    Some(RotatedRect {
        corners,
        width,
        height,
    })
}

fn side_lengths(rect: &[Point; 4]) -> (f32, f32) {
    (dist(rect[0], rect[1]), dist(rect[1], rect[2]))
}

pub fn dist(a: Point, b: Point) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// `get_mini_boxes`: sort by x; of the two leftmost the upper is top-left, of the two
/// rightmost the upper is top-right.
fn mini_box_order(mut pts: [Point; 4]) -> [Point; 4] {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (tl, bl) = if pts[1][1] > pts[0][1] {
        (pts[0], pts[1])
    } else {
        (pts[1], pts[0])
    };
    let (tr, br) = if pts[3][1] > pts[2][1] {
        (pts[2], pts[3])
    } else {
        (pts[3], pts[2])
    };
    [tl, tr, br, bl]
}

/// `order_points_clockwise`: the same rule, applied to the scaled box.
pub fn order_clockwise(pts: [Point; 4]) -> [Point; 4] {
    mini_box_order(pts)
}

/// Whether `p` lies inside or on the convex quadrilateral `quad` (either winding).
pub fn inside_convex(quad: &[Point; 4], p: Point) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let c = cross(quad[i], quad[(i + 1) % 4], p);
        if c.abs() < 1e-4 {
            continue;
        }
        if sign == 0.0 {
            sign = c.signum();
        } else if c.signum() != sign {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_points_give_their_bounding_box() {
        let mut pts = Vec::new();
        for x in 10..=50 {
            for y in [20, 30] {
                pts.push([x as f32, y as f32]);
            }
        }
        let r = min_area_rect(pts).unwrap();
        assert!(
            (r.width - 40.0).abs() < 1e-3 && (r.height - 10.0).abs() < 1e-3,
            "{r:?}"
        );
        let c = r.corners;
        assert!(
            (c[0][0] - 10.0).abs() < 1e-3 && (c[0][1] - 20.0).abs() < 1e-3,
            "{c:?}"
        );
        assert!(
            (c[2][0] - 50.0).abs() < 1e-3 && (c[2][1] - 30.0).abs() < 1e-3,
            "{c:?}"
        );
        let g = r.grown(2.0);
        assert!((g.corners[0][0] - 8.0).abs() < 1e-3 && (g.corners[0][1] - 18.0).abs() < 1e-3);
        assert!((g.width - 44.0).abs() < 1e-3);
    }

    #[test]
    fn a_tilted_bar_gets_a_tilted_rectangle() {
        // A 100 x 10 bar turned by 30 degrees.
        let (s, c) = (30f32.to_radians().sin(), 30f32.to_radians().cos());
        let mut pts = Vec::new();
        for u in 0..=100 {
            for v in 0..=10 {
                let (u, v) = (u as f32, v as f32);
                pts.push([u * c - v * s, u * s + v * c]);
            }
        }
        let r = min_area_rect(pts).unwrap();
        assert!((r.width - 100.0).abs() < 0.01, "{r:?}");
        assert!((r.height - 10.0).abs() < 0.01, "{r:?}");
        assert!(inside_convex(&r.corners, [50.0 * c, 50.0 * s + 1.0]));
        assert!(!inside_convex(&r.corners, [0.0, 50.0]));
    }
}
